import { render } from 'preact';
import { boot } from './boot';
import { App } from './app';
import './styles.css';

// The opened page's data requests first (boot.ts), then the theme before
// the first paint of the app.
boot();
try {
  const t = localStorage.getItem('vigil.theme') ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.documentElement.dataset.theme = t;
} catch {
  document.documentElement.dataset.theme = 'light';
}

render(<App />, document.getElementById('app')!);
