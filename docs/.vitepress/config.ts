import { defineConfig } from 'vitepress';
// The published packages in dependency order: the one list the site, the API generator and the
// docs tests read.
import packages from './packages.json' with { type: 'json' };

// The home page's layout lives here rather than in index.md's front matter: Biome formats the
// repository's markdown and does not keep YAML front matter intact.
const home = {
  layout: 'home',
  hero: {
    name: 'cbtm',
    text: 'Expert language models, trained apart, used together',
    tagline:
      'Cluster a corpus into domains, train one small expert per cluster with no communication between them, and route each context to its nearest experts at inference (c-BTM).',
    actions: [
      { theme: 'brand', text: 'Get started', link: '/getting-started' },
      { theme: 'alt', text: 'Concepts', link: '/concepts' },
      { theme: 'alt', text: 'Try it in the browser', link: '/demo' },
    ],
  },
  features: [
    {
      title: 'Runs on a laptop',
      details:
        'TensorFlow.js on wasm with patched kernels trains the experts on a CPU; CUDA is used when it is there.',
    },
    {
      title: 'Embarrassingly parallel',
      details:
        'Each expert trains on its own cluster, in its own process or on its own machine. Runs resume from what is on disk.',
    },
    {
      title: 'Faithful, minus the bugs',
      details:
        'scikit-learn-exact tf-idf and SVD, balanced k-means for any N and k, exp(−d²/T) routing, O(d) prefix re-embedding.',
    },
  ],
};

export default defineConfig({
  transformPageData(pageData) {
    if (pageData.relativePath === 'index.md') Object.assign(pageData.frontmatter, home);
  },
  title: 'cbtm',
  description:
    'Cluster a corpus, train one expert language model per cluster in parallel, route and ensemble them at inference (c-BTM).',
  cleanUrls: false,
  // Generated fragments (API, results) are included into pages, not pages of their own;
  // README.md explains how to build the site.
  srcExclude: ['packages/api/**', 'results/**', 'fidelity-data/**', 'README.md'],
  lastUpdated: false,
  // The docs build must fail on a dead link: nothing internal may point nowhere.
  ignoreDeadLinks: false,
  head: [
    ['link', { rel: 'icon', type: 'image/svg+xml', href: '/logo.svg' }],
    ['meta', { name: 'theme-color', content: '#2f6f73' }],
  ],
  markdown: { math: false },
  themeConfig: {
    logo: '/logo.svg',
    nav: [
      { text: 'Guide', link: '/getting-started' },
      { text: 'Packages', link: '/packages/' },
      { text: 'CLI', link: '/cli' },
      { text: 'Results', link: '/results' },
      { text: 'Demo', link: '/demo' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/getting-started' },
          { text: 'Concepts', link: '/concepts' },
          { text: 'Scaling out', link: '/scaling-out' },
          { text: 'Scaling sweeps', link: '/sweep' },
          { text: 'Serving', link: '/serving' },
          { text: 'Mixing, removing, merging', link: '/grow-and-merge' },
          { text: 'Hugging Face interop', link: '/interop' },
          { text: 'Fidelity', link: '/fidelity' },
          { text: 'Results', link: '/results' },
          { text: 'In-browser demo', link: '/demo' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'CLI', link: '/cli' },
          { text: 'Examples', link: '/examples' },
        ],
      },
      {
        text: 'Packages',
        items: [
          { text: 'Overview', link: '/packages/' },
          ...packages.map((p) => ({ text: `@cbtm/${p}`, link: `/packages/${p}` })),
        ],
      },
    ],
    search: { provider: 'local' },
    outline: [2, 3],
  },
  vite: {
    // The demo runs TensorFlow.js in the browser; keep its chunk out of the size warning.
    build: { chunkSizeWarningLimit: 4096 },
  },
});
