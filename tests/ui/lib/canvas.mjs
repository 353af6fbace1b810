// Working the editor's canvas with the mouse, as a person does: dragging node types from
// the palette, joining handles, moving cards.

/** The card of node nodeId on page. */
export const card = (page, nodeId) => page.locator(`[data-testid=canvas-node][data-node-id="${nodeId}"]`);

/** A handle of a node's card: "in", "out", "route:<rule id>", "model", … (canvas/handles.ts). */
export const handle = (page, nodeId, handleId) =>
  card(page, nodeId).locator(`.react-flow__handle[data-handleid="${handleId}"]`);

async function centre(locator) {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${locator} is not visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags the palette's componentType onto the canvas, dropped at (x, y) of the canvas. */
export async function dropFromPalette(page, componentType, x, y) {
  const item = page.locator(`[data-testid=palette-item][data-type="${componentType}"]`);
  await item.dragTo(page.locator(".react-flow__pane"), { targetPosition: { x, y } });
}

/** Presses the mouse on one handle, moves to another and lets go there. */
export async function connect(page, from, to) {
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await page.mouse.up();
}

/** Drags a node's card by (dx, dy) pixels, holding it by its label. */
export async function moveCard(page, nodeId, dx, dy) {
  const at = await centre(card(page, nodeId).locator(".node-label"));
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  await page.mouse.move(at.x + dx / 2, at.y + dy / 2, { steps: 4 });
  await page.mouse.move(at.x + dx, at.y + dy, { steps: 4 });
  await page.mouse.up();
}
