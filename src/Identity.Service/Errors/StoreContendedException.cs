namespace Identity.Service.Errors;

/// <summary>A write lost the race to concurrent writes on every attempt; nothing of it was written.</summary>
public sealed class StoreContendedException(int attempts, Exception last)
    : Exception($"The write lost to concurrent writes {attempts} times in a row.", last);
