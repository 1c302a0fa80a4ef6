using Identity.Service.Hosting;
using Identity.Service.Storage;

if (args is ["add-migration", var name, .. var rest])
{
    var provider = StoreProvider.Sqlite;
    if (rest is [] || (rest is ["--provider", var value] && Enum.TryParse(value, ignoreCase: true, out provider)))
        return MigrationScaffolding.AddMigration(name, provider);
    Console.Error.WriteLine("usage: add-migration Name [--provider Sqlite|Postgres]");
    return 2;
}

await IdentityApp.Build(args).RunAsync();
return 0;
