// Request metrics in Prometheus text format: counts by operation and status,
// bytes in and out. Kept in plain maps; one process, no locking needed.
export class HttpMetrics {
  private readonly requests = new Map<string, number>();
  private bytesReceived = 0;
  private bytesSent = 0;

  countRequest(operation: string, status: number): void {
    const key = `${operation}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countBytes(received: number, sent: number): void {
    this.bytesReceived += received;
    this.bytesSent += sent;
  }

  render(extra: string[] = []): string {
    const lines = [
      '# HELP strata_http_requests_total S3 requests by operation and status.',
      '# TYPE strata_http_requests_total counter',
    ];
    for (const [key, count] of this.requests) {
      const [operation, status] = key.split('\u0000');
      lines.push(`strata_http_requests_total{operation="${operation}",status="${status}"} ${count}`);
    }
    lines.push(
      '# HELP strata_http_received_bytes_total Request bytes received (headers excluded).',
      '# TYPE strata_http_received_bytes_total counter',
      `strata_http_received_bytes_total ${this.bytesReceived}`,
      '# HELP strata_http_sent_bytes_total Response body bytes sent.',
      '# TYPE strata_http_sent_bytes_total counter',
      `strata_http_sent_bytes_total ${this.bytesSent}`,
      ...extra,
    );
    return `${lines.join('\n')}\n`;
  }
}
