/** Light and dark: the system's preference until the user picks one with the toggle (kept in localStorage). */
import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark';
const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
const listeners = new Set<(t: Theme) => void>();

export function currentTheme(): Theme {
  const set = document.documentElement.dataset.theme;
  if (set === 'dark' || set === 'light') return set;
  return media?.matches ? 'dark' : 'light';
}

export function setTheme(t: Theme) {
  document.documentElement.dataset.theme = t;
  try { localStorage.setItem('theme', t); } catch { /* private mode */ }
  listeners.forEach((f) => f(t));
}

media?.addEventListener('change', () => listeners.forEach((f) => f(currentTheme())));

export function useTheme(): Theme {
  const [t, set] = useState(currentTheme());
  useEffect(() => { listeners.add(set); return () => { listeners.delete(set); }; }, []);
  return t;
}
