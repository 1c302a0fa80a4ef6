using System.Collections.Concurrent;

namespace Identity.Service.Import;

/// <summary>The imports with a stream open on this instance now (an import is RUNNING while it has one).</summary>
public sealed class ImportStreams
{
    readonly ConcurrentDictionary<string, int> open = new(StringComparer.Ordinal);

    public bool IsOpen(string importId) => open.TryGetValue(importId, out var count) && count > 0;

    public IDisposable Open(string importId)
    {
        open.AddOrUpdate(importId, 1, (_, count) => count + 1);
        return new Closer(this, importId);
    }

    sealed class Closer(ImportStreams streams, string importId) : IDisposable
    {
        int closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref closed, 1) == 0)
                streams.open.AddOrUpdate(importId, 0, (_, count) => count - 1);
        }
    }
}
