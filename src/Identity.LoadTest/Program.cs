var h = new HdrHistogram.LongHistogram(1, 60_000_000, 3);
h.RecordValue(5);
Spectre.Console.AnsiConsole.WriteLine(h.GetValueAtPercentile(50).ToString(System.Globalization.CultureInfo.InvariantCulture));
return 0;
