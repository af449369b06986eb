import type { ComponentChildren } from 'preact';
import type { ApiError, Loaded } from './api.js';
import { onLink } from './router.js';

export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return <a href={props.href} class={props.class} aria-current={props['aria-current']} onClick={onLink}>{props.children}</a>;
}

export function Kpi(props: { id: string; label: string; value: string; trend?: { text: string; dir: 'up' | 'down' | 'flat' } | null; hint?: string; goodWhenUp?: boolean }) {
  const t = props.trend;
  const good = t && t.dir !== 'flat' ? (t.dir === 'up') === (props.goodWhenUp ?? true) : null;
  return (
    <div class="kpi" data-kpi={props.id}>
      <div class="kpi-label">{props.label}</div>
      <div class="kpi-value" data-value>{props.value}</div>
      <div class="kpi-trend">
        {t === undefined ? null : t ? <span class={`trend ${good === null ? 'flat' : good ? 'good' : 'bad'}`} data-trend title="against the previous period">{t.dir === 'up' ? '▲' : t.dir === 'down' ? '▼' : '●'} {t.text}</span>
          : <span class="trend flat">no previous period</span>}
      </div>
      {props.hint ? <div class="kpi-hint">{props.hint}</div> : null}
    </div>
  );
}

export function Loading(props: { what: string }) {
  return <p class="state loading" role="status" aria-live="polite">Loading {props.what}…</p>;
}

export function ErrorBox(props: { error: ApiError; what: string; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <strong>Could not load {props.what}.</strong> {props.error.message}
      {props.retry ? <> <button type="button" onClick={props.retry}>Retry</button></> : null}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="state empty">{props.children}</p>;
}

/** Loading / error / content for one loaded resource. */
export function Async<T>(props: { res: Loaded<T>; what: string; children: (d: T) => ComponentChildren }) {
  const { res } = props;
  if (res.error && !res.data) return <ErrorBox error={res.error} what={props.what} retry={res.reload} />;
  if (!res.data) return <Loading what={props.what} />;
  return <>{res.error ? <ErrorBox error={res.error} what={`fresh ${props.what} (showing the last figures)`} retry={res.reload} /> : null}{props.children(res.data)}</>;
}

export function Section(props: { title: string; id?: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={props.id ? `${props.id}-h` : undefined} data-section={props.id}>
      <div class="card-head"><h2 id={props.id ? `${props.id}-h` : undefined}>{props.title}</h2>{props.actions}</div>
      {props.children}
    </section>
  );
}

export function Segmented<T extends string>(props: { label: string; value: T; options: readonly { value: NoInfer<T>; label: string }[]; onChange(v: NoInfer<T>): void; name: string }) {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label} data-picker={props.name}>
      {props.options.map((o) => (
        <button type="button" role="radio" aria-checked={o.value === props.value} class={o.value === props.value ? 'on' : ''} data-value={o.value}
          onClick={() => props.onChange(o.value)}>{o.label}</button>
      ))}
    </div>
  );
}
