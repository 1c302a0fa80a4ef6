namespace Identity.Service.Hosting;

static class DataDirectory
{
    /// <summary>Creates the directory readable by the owner only: it holds the member database and, in development, keys.</summary>
    public static void Ensure(string path)
    {
        if (Directory.Exists(path))
            return;
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
