import { render } from 'preact';
import { App } from './app';
import './styles.css';

// Theme before the first paint of the app.
try {
  const t = localStorage.getItem('vigil.theme') ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.documentElement.dataset.theme = t;
} catch {
  document.documentElement.dataset.theme = 'light';
}

render(<App />, document.getElementById('app')!);
