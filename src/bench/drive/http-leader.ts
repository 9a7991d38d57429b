// Which of several base URLs leads, for "leader only" runs of the HTTP driver (a closed loop
// that does not follow redirects must not send writes to a member that answers with the
// leader's address instead of serving them).
//
// Asked two ways, in order:
//   1. etcd's `POST /v3/maintenance/status`: every member names the leader's member id and its
//      own; the leader is the URL whose own id is the named one.
//   2. Otherwise (a server without that route, e.g. raftbench's gateway subset), a probe put of
//      PROBE_KEY to each URL, redirects not followed: the first that answers 2xx serves writes.

const PROBE_KEY = Buffer.from('raftbench/leader-probe').toString('base64');

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<Response> {
  return fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
}

/** The leader by etcd's maintenance status, or null when a URL does not answer it. */
export async function etcdLeaderUrl(urls: readonly string[], timeoutMs = 5000): Promise<string | null> {
  const statuses = await Promise.all(
    urls.map(async (url) => {
      const response = await postJson(`${url}/v3/maintenance/status`, {}, timeoutMs).catch(() => null);
      if (response === null || !response.ok) return null;
      const status = (await response.json().catch(() => ({}))) as { header?: { member_id?: string }; leader?: string };
      return { url, memberId: status.header?.member_id, leader: status.leader };
    }),
  );
  if (statuses.some((status) => status === null)) return null;
  const leaderId = statuses.find((status) => status!.leader !== undefined && status!.leader !== '0')?.leader;
  return statuses.find((status) => status!.memberId === leaderId)?.url ?? null;
}

/** The URL that leads now; throws, naming what each URL answered, when none does. */
export async function leaderUrl(urls: readonly string[], timeoutMs = 5000): Promise<string> {
  if (urls.length === 1) return urls[0]!;
  const byStatus = await etcdLeaderUrl(urls, timeoutMs);
  if (byStatus !== null) return byStatus;
  const answers: string[] = [];
  for (const url of urls) {
    const response = await postJson(`${url}/v3/kv/put`, { key: PROBE_KEY, value: '' }, timeoutMs).catch((error: unknown) => error as Error);
    if (!(response instanceof Error) && response.ok) return url;
    answers.push(`${url}: ${response instanceof Error ? response.message : `HTTP ${response.status}`}`);
  }
  throw new Error(`no leader among the URLs (a probe put was refused by all): ${answers.join('; ')}`);
}
