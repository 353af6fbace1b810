import { setThemeChoice, useTheme, type ThemeChoice } from "../theme/theme";

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };
const LABEL: Record<ThemeChoice, string> = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };

/** Cycles system → light → dark. */
export function ThemeToggle() {
  const { choice } = useTheme();
  return (
    <button type="button" className="ghost" data-testid="theme-toggle" onClick={() => setThemeChoice(NEXT[choice])}>
      {LABEL[choice]}
    </button>
  );
}
