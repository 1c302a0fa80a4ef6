using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Keeps every formatted log line (with exception text) a server writes.</summary>
public sealed class LogCapture : ILoggerProvider
{
    readonly ConcurrentQueue<string> lines = new();

    /// <summary>Every key handed out in this test run.</summary>
    public static ConcurrentBag<string> Keys { get; } = [];

    public IReadOnlyCollection<string> Lines => lines;

    public string AllText => string.Join('\n', lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose()
    {
    }

    sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                line += " | " + string.Join(", ", values.Select(kv => $"{kv.Key}={kv.Value}"));
            lines.Enqueue(exception is null ? line : line + "\n" + exception);
        }
    }
}
