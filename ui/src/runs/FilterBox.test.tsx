import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FilterBox } from "./FilterBox";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let container: HTMLDivElement | null = null;

function render(node: React.ReactNode): HTMLDivElement {
  container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  act(() => root.render(node));
  return container;
}

afterEach(() => {
  container?.remove();
  container = null;
});

describe("FilterBox", () => {
  it("marks the offending part of an invalid filter and shows the message", () => {
    const filter = "metrics.loss < 'low'";
    const el = render(
      <FilterBox
        label="Filter runs"
        value={filter}
        onApply={() => undefined}
        error={{ code: "INVALID_PARAMETER_VALUE", message: "expected a number for metrics.loss" }}
        mark={{ start: 15, end: 20 }}
        fix={null}
      />,
    );
    const input = el.querySelector("input")!;
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(el.querySelector(".filter-layer mark")?.textContent).toBe("'low'");
    expect(el.querySelector(".filter-layer")?.textContent).toBe(filter);
    expect(el.querySelector("[role=alert]")?.textContent).toContain("INVALID_PARAMETER_VALUE");
  });

  it("shows a caret at the end for an error at the end of the text", () => {
    const el = render(<FilterBox label="f" value="metrics.loss <" onApply={() => undefined} error={{ code: "X", message: "m" }} mark={{ start: 14, end: 14 }} />);
    expect(el.querySelector(".filter-layer mark.caret")).not.toBeNull();
  });

  it("applies the text on submit and offers the fix", () => {
    const onApply = vi.fn();
    const el = render(<FilterBox label="f" value="tags.a-b = 'x'" onApply={onApply} error={{ code: "X", message: "m" }} mark={{ start: 0, end: 8 }} fix="tags.`a-b` = 'x'" />);
    const fix = [...el.querySelectorAll("button")].find((b) => b.textContent?.startsWith("Use"))!;
    act(() => fix.click());
    expect(onApply).toHaveBeenCalledWith("tags.`a-b` = 'x'");
    act(() => el.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })));
    expect(onApply).toHaveBeenLastCalledWith("tags.a-b = 'x'");
  });

  it("hides the mark while the text is being edited", () => {
    const el = render(<FilterBox label="f" value="a = 1" onApply={() => undefined} error={{ code: "X", message: "m" }} mark={{ start: 0, end: 1 }} />);
    const input = el.querySelector("input")!;
    act(() => {
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
      setter.call(input, "a = 2");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(el.querySelector(".filter-layer")).toBeNull();
    expect(el.querySelector("[role=alert]")).toBeNull();
  });
});
