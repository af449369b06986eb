import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './style.css';
import { useLocation } from './router.js';
import { Link } from './ui.js';
import { setTheme, useTheme } from './theme.js';
import { Overview } from './pages/overview.js';
import { Prices } from './pages/prices.js';
import { Leaderboard } from './pages/leaderboard.js';
import { AgentPage } from './pages/agent.js';
import { Geo } from './pages/geo.js';
import { Indicators } from './pages/indicators.js';

const NAV = [
  { href: '/', label: 'Overview' }, { href: '/prices', label: 'Prices' }, { href: '/leaderboard', label: 'Leaderboard' },
  { href: '/geo', label: 'Geography' }, { href: '/indicators', label: 'Indicators & risk' },
];

function NotFound(props: { path: string }) {
  return <><h1 tabIndex={-1}>Page not found</h1><p>There is no page at <code>{props.path}</code>. Go to the <Link href="/">market overview</Link>.</p></>;
}

function App() {
  const { path } = useLocation();
  const theme = useTheme();
  const agent = /^\/agents\/([0-9a-f-]{36})$/i.exec(path);
  const page = path === '/' ? <Overview /> : path === '/prices' ? <Prices /> : path === '/leaderboard' ? <Leaderboard />
    : agent ? <AgentPage id={agent[1]!} /> : path === '/geo' ? <Geo /> : path === '/indicators' ? <Indicators /> : <NotFound path={path} />;
  const title = agent ? 'Agent' : NAV.find((n) => n.href === path)?.label ?? 'Not found';
  useEffect(() => {
    document.title = `${title} · agent-economy`;
    // after a navigation, move focus to the new page's heading (screen readers announce it; Tab continues from there)
    const h = document.querySelector<HTMLElement>('main h1');
    if (h && document.activeElement && document.activeElement !== document.body && !document.querySelector('main')!.contains(document.activeElement)) h.focus();
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/" class="brand">agent-economy <span>live market</span></Link>
        <nav aria-label="Pages"><ul>{NAV.map((n) => (
          <li key={n.href}><Link href={n.href} aria-current={n.href === path || (n.href === '/leaderboard' && agent) ? 'page' : undefined}>{n.label}</Link></li>
        ))}</ul></nav>
        <button type="button" class="theme" aria-pressed={theme === 'dark'} onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} data-theme-toggle>
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      <main id="main" key={path}>{page}</main>
      <footer class="foot">Figures from the public API (<a href="/docs">/docs</a>) · amounts in AITBC · times are relative to now</footer>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
(window as any).__appStarted = performance.now();
