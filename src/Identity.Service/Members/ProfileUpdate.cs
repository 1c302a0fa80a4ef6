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

/// <summary>Profile fields to set; a field whose flag is false is left alone, a null value clears it.</summary>
public sealed record ProfileUpdate(bool SetName, string? Name, bool SetGender, int Gender, bool SetBirthday, string? Birthday);
