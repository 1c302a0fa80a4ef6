using Identity.Service.Hosting;
using Identity.Service.Storage;

if (args is ["add-migration", var name])
    return MigrationScaffolding.AddMigration(name);

await IdentityApp.Build(args).RunAsync();
return 0;
