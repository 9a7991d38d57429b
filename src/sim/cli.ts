// Placeholder replaced by the simulation work (issue 2): parses options and runs seeds.
export async function simCommand(_argv: string[]): Promise<number> {
  console.error('raftbench sim: the simulation is not built yet');
  return 1;
}
