import { useEffect, useState, type ReactNode } from 'react';
import type { ElementContent, Root } from 'hast';

/** hast from the highlighter as React elements: only `span`s with their classes, and text. */
function renderTree(nodes: ElementContent[]): ReactNode[] {
  return nodes.map((node, i) => {
    if (node.type === 'text') return node.value;
    if (node.type !== 'element') return null;
    const className = node.properties?.className;
    return (
      <span key={i} className={Array.isArray(className) ? className.join(' ') : undefined}>
        {renderTree(node.children)}
      </span>
    );
  });
}

/**
 * A fenced code block: monospace, scrolls sideways instead of wrapping, shown at once as plain
 * text and coloured when the highlighter (loaded on first use) has run.
 */
export function CodeBlock({ code, lang }: { code: string; lang?: string }) {
  const [tree, setTree] = useState<Root | null>(null);
  useEffect(() => {
    let live = true;
    setTree(null);
    void import('./highlight').then(({ highlight }) => {
      if (live) setTree(highlight(code, lang));
    });
    return () => {
      live = false;
    };
  }, [code, lang]);
  const name = lang?.trim().split(/\s+/)[0];
  return (
    <pre className="md-code-block" data-lang={name || undefined} tabIndex={0}>
      <code>{tree ? renderTree(tree.children as ElementContent[]) : code}</code>
    </pre>
  );
}
