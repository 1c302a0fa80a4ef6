namespace Identity.LoadTest;

/// <summary>
/// Draws member indexes from a Zipf distribution over <c>[0, count)</c>: index <c>i</c> has weight
/// <c>1 / (i + 1)^exponent</c>, so low indexes are the hot keys. Exponent 0 is uniform. The cumulative distribution is
/// computed once; each draw is one uniform number and a binary search. Thread-safe (the table is read-only).
/// </summary>
internal sealed class ZipfKeys
{
    private readonly double[] cumulative;

    public ZipfKeys(int count, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(exponent);
        cumulative = new double[count];
        var sum = 0.0;
        for (var i = 0; i < count; i++)
        {
            sum += exponent == 0 ? 1.0 : Math.Pow(i + 1, -exponent);
            cumulative[i] = sum;
        }
        for (var i = 0; i < count; i++)
        {
            cumulative[i] /= sum;
        }
        cumulative[^1] = 1.0;
    }

    public int Count => cumulative.Length;

    /// <summary>The probability of drawing one of the <paramref name="top"/> hottest keys.</summary>
    public double ShareOfTop(int top) => top <= 0 ? 0 : cumulative[Math.Min(top, cumulative.Length) - 1];

    public int Next(Random random)
    {
        var index = Array.BinarySearch(cumulative, random.NextDouble());
        if (index < 0)
        {
            index = ~index;
        }
        return Math.Min(index, cumulative.Length - 1);
    }
}
