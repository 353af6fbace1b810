// The text field the variable picker writes into: the last one focused in the panel. A
// template field takes `{{ node.port }}`, a rule's field a dotted path into the run state.

import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useState,
  type Dispatch,
  type ReactNode,
  type RefObject,
  type SetStateAction,
} from "react";

export type InsertMode = "template" | "path";

export interface InsertTarget {
  mode: InsertMode;
  /** Puts text at the field's caret (replacing its selection). */
  insert(text: string): void;
}

interface Focus {
  target: InsertTarget | null;
  setTarget: Dispatch<SetStateAction<InsertTarget | null>>;
}

const FocusContext = createContext<Focus>({ target: null, setTarget: () => {} });

export function InsertTargetProvider({ children }: { children: ReactNode }) {
  const [target, setTarget] = useState<InsertTarget | null>(null);
  return <FocusContext.Provider value={{ target, setTarget }}>{children}</FocusContext.Provider>;
}

export const useInsertTarget = () => useContext(FocusContext).target;

type TextElement = HTMLInputElement | HTMLTextAreaElement;

/**
 * Makes a text field a target of the picker: returns the ref to put on it and its onFocus.
 * value and onChange are the field's own.
 */
export function useInsertable(mode: InsertMode, value: string, onChange: (v: string) => void): {
  ref: RefObject<TextElement | null>;
  onFocus: () => void;
} {
  const { setTarget } = useContext(FocusContext);
  const ref = useRef<TextElement | null>(null);
  const latest = useRef({ value, onChange });
  latest.current = { value, onChange };
  const target = useRef<InsertTarget | null>(null);
  if (!target.current)
    target.current = {
      mode,
      insert(text) {
        const el = ref.current;
        const current = latest.current.value;
        const start = el?.selectionStart ?? current.length;
        const end = el?.selectionEnd ?? current.length;
        latest.current.onChange(current.slice(0, start) + text + current.slice(end));
        // The caret after the inserted text, once the new value is drawn.
        window.requestAnimationFrame(() => {
          el?.focus();
          el?.setSelectionRange(start + text.length, start + text.length);
        });
      },
    };
  // A field that goes away is no target any more.
  useEffect(() => () => setTarget((t) => (t === target.current ? null : t)), [setTarget]);
  return { ref, onFocus: () => setTarget(target.current) };
}
