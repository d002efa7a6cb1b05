// Mounts its children only while the box is on screen (or close to it); a box of the same height
// stands in otherwise. 200 charts in a grid cost 200 empty boxes until they are scrolled to.
import { useEffect, useRef, useState, type ReactNode } from "react";

export function LazyMount({
  height,
  children,
  placeholder,
  margin = "300px",
  className,
}: {
  height: number;
  children: ReactNode;
  placeholder?: ReactNode;
  margin?: string;
  className?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    if (typeof IntersectionObserver === "undefined") {
      setVisible(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) setVisible(e.isIntersecting);
      },
      { rootMargin: margin },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [margin]);
  return (
    <div ref={box} className={className} style={{ minHeight: height }} data-mounted={visible ? "true" : "false"}>
      {visible ? children : placeholder}
    </div>
  );
}
