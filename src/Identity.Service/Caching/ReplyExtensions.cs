namespace Identity.Service.Caching;

/// <summary>Sets a flag on a reply and returns it, for replays.</summary>
public static class ReplyExtensions
{
    public static T Also<T>(this T message, Action<T> change)
    {
        change(message);
        return message;
    }
}
