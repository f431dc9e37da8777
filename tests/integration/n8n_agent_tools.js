// What n8n's MCP Client Tool node hands an AI Agent, without the agent's model: its supplyData's own steps (n8n's
// connectMcpClient, getAllTools, getSelectedTools, mcpToolToDynamicTool, createCallTool), then each call as the agent
// makes it (`tool.invoke(arguments)`: n8n checks the arguments against the tool's schema, then calls the tool).
// Run by tests/integration/test_n8n_mcp.py with n8n's Node:
//   node n8n_agent_tools.js <n8n-nodes-langchain dist> <endpoint> '<{"tool": {arguments}}>'   (MCP_KEY: the API key)
const [dist, endpointUrl, calls] = process.argv.slice(2);
const shared = require(`${dist}/nodes/mcp/shared/utils.js`);
const toolkit = require(`${dist}/nodes/mcp/McpClientTool/utils.js`);

async function main() {
  const client = await shared.connectMcpClient({
    serverTransport: "httpStreamable",
    endpointUrl,
    headers: { Authorization: `Bearer ${process.env.MCP_KEY}` },
    name: "@n8n/n8n-nodes-langchain.mcpClientTool",
    version: 1.2,
  });
  if (!client.ok) throw client.error.error;
  const listed = toolkit.getSelectedTools({ mode: "all", tools: await shared.getAllTools(client.result) });
  const errors = []; // what the node records as its error when a call fails
  const tools = listed.map((tool) =>
    toolkit.mcpToolToDynamicTool(
      tool,
      toolkit.createCallTool(tool.name, client.result, 60000, (message) => errors.push(message)),
    ),
  );
  const results = {};
  for (const [name, args] of Object.entries(JSON.parse(calls))) {
    try {
      results[name] = { answer: await tools.find((tool) => tool.name === name).invoke(args) };
    } catch (error) {
      results[name] = { thrown: error.message };
    }
  }
  await client.result.close();
  const shapes = tools.map((tool) => ({ name: tool.name, fields: Object.keys(tool.schema.shape) }));
  console.log(JSON.stringify({ tools: shapes, results, errors }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
