using System.Runtime.InteropServices;

namespace Identity.Cli.Import;

/// <summary>
/// Whether two paths name one file: the same path once symbolic links are followed, or, on Linux, the same device and
/// inode, which also catches a hard link. Used before the CLI writes a file it must not write over.
/// </summary>
internal static class SameFile
{
    public static bool Check(string first, string second)
    {
        if (string.Equals(Resolve(first), Resolve(second), StringComparison.Ordinal))
            return true;
        return Inode(first) is { } a && Inode(second) is { } b && a == b;
    }

    /// <summary>The full path, with a symbolic link at its end followed to the file it finally names.</summary>
    static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full; // a link loop or a broken link: not a file the other path can be
        }
    }

    /// <summary>The file's device and inode (null where they cannot be read: no such file, or not 64-bit Linux).</summary>
    static (ulong Device, ulong Inode)? Inode(string path)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64) || !File.Exists(path))
            return null;
        // struct stat on 64-bit Linux (glibc and musl, x86-64 and arm64) begins with st_dev and st_ino, 8 bytes each.
        var buffer = new byte[256];
        try
        {
            return Stat(path, buffer) == 0 ? (BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8)) : null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}
