/**
 * The demo page's component: loads the export in public/demo/, shows a weight bar per expert
 * for the text typed so far, and streams a continuation whose tokens are colored by their
 * dominant expert. Written as a render function (no SFC template) so tsc and Biome check all of
 * it. TensorFlow.js and the cbtm packages load only on the client, after mount.
 */
import { withBase } from 'vitepress';
import {
  computed,
  defineComponent,
  h,
  onBeforeUnmount,
  onMounted,
  ref,
  shallowRef,
  type VNode,
  watch,
} from 'vue';
import type { DemoSession, WebRoute, WebToken } from './session.js';
import './demo.css';

// Expert colors: distinct, and readable as a light background behind text.
const COLORS = [
  '#f4a261',
  '#2a9d8f',
  '#e76f51',
  '#8ab17d',
  '#9b5de5',
  '#e9c46a',
  '#00bbf9',
  '#f15bb5',
  '#577590',
  '#b5838d',
];
const color = (j: number) => COLORS[j % COLORS.length]!;

/** The expert with the largest weight in a route. */
export function dominantExpert(route: WebRoute): number {
  let best = 0;
  for (let i = 1; i < route.weights.length; i++)
    if (route.weights[i]! > route.weights[best]!) best = i;
  return route.experts[best]!;
}

export const CbtmDemo = defineComponent({
  name: 'CbtmDemo',
  setup() {
    const status = ref<'loading' | 'ready' | 'generating' | 'error'>('loading');
    const message = ref('Loading TensorFlow.js…');
    const backend = ref('');
    const session = shallowRef<DemoSession>();
    const prompt = ref('');
    const topK = ref(0); // 0 = all
    const temperature = ref(0.1);
    const samplingTemperature = ref(0.8);
    const maxTokens = ref(40);
    const seed = ref(1);
    const route = shallowRef<WebRoute>();
    const tokens = shallowRef<WebToken[]>([]);
    const generatedFor = ref('');
    let controller: AbortController | undefined;
    let routeTimer: ReturnType<typeof setTimeout> | undefined;
    let generateTimer: ReturnType<typeof setTimeout> | undefined;

    const k = computed(() => session.value?.k ?? 0);
    const experts = computed(() => session.value?.manifest.experts ?? []);
    const bars = computed(() => {
      const r = route.value;
      return experts.value.map((e) => {
        const i = r ? r.experts.indexOf(e.index) : -1;
        return { ...e, active: i >= 0, weight: i >= 0 ? r!.weights[i]! : 0 };
      });
    });

    const routeOptions = () => ({
      topK: topK.value === 0 ? k.value : topK.value,
      temperature: temperature.value,
    });

    function updateRoute(): void {
      if (session.value) route.value = session.value.routeText(prompt.value, routeOptions());
    }

    async function generate(): Promise<void> {
      const s = session.value;
      if (!s) return;
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      tokens.value = [];
      generatedFor.value = prompt.value;
      status.value = 'generating';
      try {
        for await (const t of s.generate(prompt.value, {
          ...routeOptions(),
          maxTokens: maxTokens.value,
          samplingTemperature: samplingTemperature.value,
          topP: 0.95,
          seed: seed.value,
          signal: mine.signal,
        })) {
          if (mine.signal.aborted) return;
          tokens.value = [...tokens.value, t];
          route.value = t.route;
          await new Promise((r) => setTimeout(r, 0)); // let the page paint between tokens
        }
      } catch (err) {
        if (!mine.signal.aborted) {
          status.value = 'error';
          message.value = `Generation failed: ${(err as Error).message}`;
          console.error(err);
          return;
        }
      }
      if (controller === mine) status.value = 'ready';
    }

    function stop(): void {
      controller?.abort();
      status.value = 'ready';
    }

    // As you type: new weights at once, a new continuation when typing pauses.
    watch(prompt, () => {
      controller?.abort();
      if (!session.value) return;
      clearTimeout(routeTimer);
      clearTimeout(generateTimer);
      routeTimer = setTimeout(updateRoute, 60);
      generateTimer = setTimeout(generate, 700);
    });
    // New routing settings: show the new weights now, and regenerate under them.
    watch([topK, temperature], () => {
      controller?.abort();
      if (!session.value) return;
      updateRoute();
      clearTimeout(generateTimer);
      generateTimer = setTimeout(generate, 700);
    });

    onMounted(async () => {
      try {
        const [{ initBackend }, { DemoSession }] = await Promise.all([
          import('./backend.js'),
          import('./session.js'),
        ]);
        backend.value = await initBackend(
          new URLSearchParams(window.location.search).get('backend'),
        );
        const base = new URL(withBase('/demo/'), window.location.href).href;
        const loaded = await DemoSession.load(base, (what) => {
          message.value = `Loading ${what}…`;
        });
        session.value = loaded;
        prompt.value = loaded.manifest.prompts[0] ?? '';
        status.value = 'ready';
        updateRoute();
      } catch (err) {
        status.value = 'error';
        message.value = `The demo could not start: ${(err as Error).message}`;
        console.error(err);
      }
    });

    onBeforeUnmount(() => {
      controller?.abort();
      clearTimeout(routeTimer);
      clearTimeout(generateTimer);
      session.value?.dispose();
    });

    const numberInput = (model: typeof maxTokens, min: number, max?: number) =>
      h('input', {
        type: 'number',
        min,
        max,
        value: model.value,
        onInput: (e: Event) => {
          const v = Number((e.target as HTMLInputElement).value);
          if (Number.isFinite(v)) model.value = v;
        },
      });
    const range = (
      model: typeof temperature,
      min: number,
      max: number,
      step: number,
      testid?: string,
    ) =>
      h('input', {
        type: 'range',
        min,
        max,
        step,
        value: model.value,
        'data-testid': testid,
        onInput: (e: Event) => {
          model.value = Number((e.target as HTMLInputElement).value);
        },
      });

    function controls(): VNode {
      return h('div', { class: 'controls' }, [
        h('label', [
          'top-k ',
          h(
            'select',
            {
              'data-testid': 'top-k',
              value: topK.value,
              onChange: (e: Event) => {
                topK.value = Number((e.target as HTMLSelectElement).value);
              },
            },
            [
              h('option', { value: 0 }, 'all'),
              ...Array.from({ length: Math.max(0, k.value - 1) }, (_, i) =>
                h('option', { value: i + 1 }, String(i + 1)),
              ),
            ],
          ),
        ]),
        h('label', [
          `routing temperature T = ${temperature.value.toFixed(2)} `,
          range(temperature, 0.02, 1, 0.01, 'temperature'),
        ]),
        h('label', [
          `sampling temperature ${samplingTemperature.value.toFixed(1)} `,
          range(samplingTemperature, 0, 1.5, 0.1),
        ]),
        h('label', ['tokens ', numberInput(maxTokens, 1, 200)]),
        h('label', ['seed ', numberInput(seed, 0)]),
        status.value === 'generating'
          ? h('button', { type: 'button', 'data-testid': 'stop', onClick: stop }, 'Stop')
          : h(
              'button',
              { type: 'button', 'data-testid': 'generate', onClick: () => void generate() },
              'Generate',
            ),
      ]);
    }

    function weightBars(): VNode {
      const sum = bars.value.reduce((s, b) => s + b.weight, 0);
      return h(
        'div',
        { class: 'bars', 'data-testid': 'bars', 'data-sum': sum.toFixed(6) },
        bars.value.map((b) =>
          h(
            'div',
            {
              class: ['bar-row', { inactive: !b.active }],
              'data-testid': 'expert-bar',
              'data-expert': b.index,
              'data-weight': b.weight,
              'data-active': String(b.active),
            },
            [
              h('span', { class: 'label' }, [
                h('span', { class: 'swatch', style: { background: color(b.index) } }),
                ` expert ${b.index} · ${b.label}`,
              ]),
              h('span', { class: 'track' }, [
                h('span', {
                  class: 'fill',
                  style: { width: `${(b.weight * 100).toFixed(2)}%`, background: color(b.index) },
                }),
              ]),
              h('span', { class: 'value' }, b.active ? `${(b.weight * 100).toFixed(1)}%` : 'off'),
            ],
          ),
        ),
      );
    }

    function output(): VNode {
      const describe = (t: WebToken) =>
        t.route.experts
          .map(
            (j, i) =>
              `expert ${j} (${experts.value[j]?.label ?? ''}): ${(t.route.weights[i]! * 100).toFixed(1)}%`,
          )
          .join('\n');
      return h(
        'div',
        { class: 'output', 'data-testid': 'output', 'data-tokens': tokens.value.length },
        [
          h('span', { class: 'prompt-text' }, generatedFor.value),
          ...tokens.value.map((t) => {
            const j = dominantExpert(t.route);
            return h(
              'span',
              {
                class: 'token',
                'data-testid': 'token',
                'data-expert': j,
                title: describe(t),
                style: { background: `${color(j)}55`, borderBottomColor: color(j) },
              },
              t.text,
            );
          }),
          status.value === 'generating' ? h('span', { class: 'cursor' }, '▍') : null,
        ],
      );
    }

    return () => {
      const s = session.value;
      return h('div', { class: 'cbtm-demo', 'data-state': status.value, 'data-testid': 'demo' }, [
        status.value === 'loading' || status.value === 'error'
          ? h(
              'p',
              { class: ['status', { error: status.value === 'error' }], 'data-testid': 'status' },
              message.value,
            )
          : null,
        ...(s
          ? [
              h('p', { class: 'meta', 'data-testid': 'meta' }, [
                `${k.value} experts · embedding dimension ${s.manifest.router.dimension} · vocabulary ${s.tokenizer.vocabSize} tokens · TensorFlow.js backend `,
                h('code', { 'data-testid': 'backend' }, backend.value),
              ]),
              h('label', { class: 'field' }, [
                h(
                  'span',
                  'Prompt: type anything. The weights follow as you type; the continuation starts when you pause.',
                ),
                h('textarea', {
                  rows: 3,
                  spellcheck: false,
                  'data-testid': 'prompt',
                  value: prompt.value,
                  onInput: (e: Event) => {
                    prompt.value = (e.target as HTMLTextAreaElement).value;
                  },
                }),
              ]),
              controls(),
              h('h3', 'Expert weights for the next token'),
              weightBars(),
              h('h3', [
                'Continuation ',
                h('small', '(each token colored by its dominant expert; hover for the weights)'),
              ]),
              output(),
            ]
          : []),
      ]);
    };
  },
});
