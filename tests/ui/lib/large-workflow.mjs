// A large workflow for the browser UI's speed: a chain of n transform nodes behind a manual
// trigger, on a 25-column grid, and the test of it being drawn. Shared by
// tests/ui/large.test.mjs and bench/ui-open-500.mjs.

/** The import document of the chain ("Big <n>"). */
export function chainDocument(n) {
  const nodes = [{ node_id: "start", component_type: "trigger_manual", position_x: 1, position_y: 1 }];
  for (let i = 1; i < n; i++)
    nodes.push({
      node_id: `step_${i}`, component_type: "transform", label: `Step ${i}`,
      position_x: (i % 25) * 260 + 1, position_y: Math.floor(i / 25) * 140 + 1,
      config: { extra_config: { program: "." } },
    });
  const edges = nodes.slice(1).map((node, i) => ({ source_node_id: nodes[i].node_id, target_node_id: node.node_id }));
  return { format: "pipelit-workflow", version: 1, workflow: { name: `Big ${n}` }, nodes, edges };
}

// In the page: true once n nodes are on the canvas and visible, and — with edges — their
// n - 1 edges drawn too (React Flow draws an edge once it measured both ends' handles).
const drawn = ([n, withEdges]) => {
  const nodes = document.querySelectorAll(".react-flow__node");
  if (nodes.length !== n) return false;
  for (const el of nodes) if (el.style.visibility === "hidden") return false;
  return !withEdges || document.querySelectorAll(".react-flow__edge path.react-flow__edge-path[d]").length === n - 1;
};

/** Milliseconds from start (a performance.now() of the page) until the n nodes are drawn,
 * then until their edges are too. */
export async function timeDrawing(page, n, start) {
  await page.waitForFunction(drawn, [n, false], { polling: "raf", timeout: 30000 });
  const nodes = (await page.evaluate(() => performance.now())) - start;
  await page.waitForFunction(drawn, [n, true], { polling: "raf", timeout: 30000 });
  const edges = (await page.evaluate(() => performance.now())) - start;
  return [nodes, edges];
}
