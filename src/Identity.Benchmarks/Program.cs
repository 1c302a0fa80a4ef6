using BenchmarkDotNet.Running;

// dotnet run -c Release --project src/Identity.Benchmarks -- --filter '*'   (see docs/benchmarks.md)
BenchmarkSwitcher.FromAssembly(typeof(Identity.Benchmarks.QuoteBenchmarks).Assembly).Run(args);
