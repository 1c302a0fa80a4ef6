namespace Identity.LoadTest.Legacy;

/// <summary>
/// One generated line: the values as written (by column, see <see cref="LegacyColumns"/>) and what importing it must give.
/// </summary>
public sealed class LegacyLine(string[] values)
{
    public string[] Values { get; } = values;

    public string this[string column]
    {
        get => Values[LegacyColumns.IndexOf(column)];
        set => Values[LegacyColumns.IndexOf(column)] = value;
    }

    /// <summary>The person the line belongs to (a member expected), or -1 for a line that belongs to no one.</summary>
    public int Person { get; init; } = -1;

    /// <summary>The reject reason this line must get, or null when it must be accepted.</summary>
    public string? ExpectedReason { get; init; }

    /// <summary>For an accepted line: the first accepted line of its person creates the member; the others merge into it.</summary>
    public bool Creates { get; set; }

    /// <summary>For an identity conflict: the line whose identity it takes (its member owns it).</summary>
    public LegacyLine? ConflictsWith { get; init; }

    /// <summary>The points an accepted line migrates.</summary>
    public long Points { get; init; }

    /// <summary>The identities an accepted line binds, as "channel:id" (the union id as "union:id").</summary>
    public IReadOnlyList<string> Identities { get; init; } = [];

    public LegacyLine Copy() => new((string[])Values.Clone())
    {
        Person = Person, ExpectedReason = ExpectedReason, ConflictsWith = ConflictsWith, Points = Points, Identities = Identities,
    };
}
