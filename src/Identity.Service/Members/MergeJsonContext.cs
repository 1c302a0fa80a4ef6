namespace Identity.Service.Members;

[System.Text.Json.Serialization.JsonSerializable(typeof(List<MovedIdentity>))]
sealed partial class MergeJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
