import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import { defineAsyncComponent } from 'vue';
import './custom.css';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    // The demo pulls in TensorFlow.js: load it only on the page that uses it.
    app.component(
      'CbtmDemo',
      defineAsyncComponent(() => import('../demo/cbtm-demo.js').then((m) => m.CbtmDemo)),
    );
  },
} satisfies Theme;
