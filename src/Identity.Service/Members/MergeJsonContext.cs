using System.Text.Json;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Members;

[System.Text.Json.Serialization.JsonSerializable(typeof(List<MovedIdentity>))]
sealed partial class MergeJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
