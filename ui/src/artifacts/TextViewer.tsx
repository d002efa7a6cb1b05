// Text with line numbers, virtualised (only the lines on screen are in the page), optionally
// coloured line by line (JSON, YAML).
import { useMemo, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Token } from "./highlight";

const LINE_HEIGHT = 18;

export function TextViewer({
  text,
  tokenize,
  label,
}: {
  text: string;
  tokenize?: (line: string) => Token[];
  label?: string;
}) {
  const lines = useMemo(() => {
    const all = text.split(/\r?\n/);
    if (all.length > 1 && all[all.length - 1] === "") all.pop();
    return all;
  }, [text]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 40,
    initialRect: { width: 800, height: 600 },
  });
  const gutter = `${String(lines.length).length + 1}ch`;
  return (
    <div
      className="text-viewer"
      ref={scroller}
      role="region"
      aria-label={label ?? "File contents"}
      style={{ maxHeight: Math.min(lines.length * LINE_HEIGHT + 16, 640) }}
    >
      <div className="text-viewer-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const line = lines[item.index] ?? "";
          return (
            <div
              key={item.index}
              className="text-line"
              style={{ transform: `translateY(${item.start}px)`, height: LINE_HEIGHT }}
            >
              <span className="line-no" style={{ width: gutter }}>
                {item.index + 1}
              </span>
              <code className="line-text">
                {tokenize
                  ? tokenize(line).map((t, i) => (
                      <span key={i} className={`tok-${t.kind}`}>
                        {t.text}
                      </span>
                    ))
                  : line || " "}
              </code>
            </div>
          );
        })}
      </div>
    </div>
  );
}
