using System.Diagnostics.CodeAnalysis;
using Google.Rpc;
using Grpc.Core;

namespace Identity.Service.Errors;

/// <summary>
/// A domain failure with the gRPC status it maps to. Messages are for developers and never carry personal
/// information (no phone, name or key). <see cref="ErrorMapping"/> turns it into an AIP-193 status.
/// </summary>
public sealed class IdentityException : Exception
{
    IdentityException(StatusCode code, string reason, string message, IReadOnlyList<BadRequest.Types.FieldViolation> violations)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Violations = violations;
    }

    public StatusCode Code { get; }

    /// <summary>A stable, machine-readable reason (google.rpc.ErrorInfo.reason), e.g. <c>IDENTITY_BOUND_TO_ANOTHER_MEMBER</c>.</summary>
    public string Reason { get; }

    public IReadOnlyList<BadRequest.Types.FieldViolation> Violations { get; }

    /// <summary>
    /// A refusal that depends on the member's state (insufficient points): an idempotent write keeps it under its key,
    /// so a repeat is refused the same way instead of succeeding once the state changes.
    /// </summary>
    public bool Remembered { get; private init; }

    public static IdentityException RememberedRefusal(string reason, string message) =>
        new(StatusCode.FailedPrecondition, reason, message, []) { Remembered = true };

    public static IdentityException Invalid(IReadOnlyList<BadRequest.Types.FieldViolation> violations) =>
        new(StatusCode.InvalidArgument, ErrorReasons.InvalidArgument,
            "Invalid request: " + string.Join("; ", violations.Select(v => $"{v.Field} {v.Description}")), violations);

    public static IdentityException Invalid(string field, string description) =>
        Invalid([new BadRequest.Types.FieldViolation { Field = field, Description = description }]);

    /// <summary>A field that is well formed but refused by a rule the caller can switch on (ErrorInfo carries <paramref name="reason"/>).</summary>
    public static IdentityException Invalid(string field, string description, string reason) =>
        new(StatusCode.InvalidArgument, reason, $"Invalid request: {field} {description}",
            [new BadRequest.Types.FieldViolation { Field = field, Description = description, Reason = reason }]);

    [DoesNotReturn]
    public static void ThrowNotFound(string reason, string message) => throw new IdentityException(StatusCode.NotFound, reason, message, []);

    public static IdentityException FailedPrecondition(string reason, string message) =>
        new(StatusCode.FailedPrecondition, reason, message, []);

    [DoesNotReturn]
    public static void ThrowFailedPrecondition(string reason, string message) => throw FailedPrecondition(reason, message);

    [DoesNotReturn]
    public static void ThrowAlreadyExists(string reason, string message) =>
        throw new IdentityException(StatusCode.AlreadyExists, reason, message, []);
}

/// <summary>The stable reasons callers may switch on. Never rename one: clients depend on them.</summary>
public static class ErrorReasons
{
    public const string Domain = "identity.v1";
    public const string InvalidArgument = "INVALID_ARGUMENT";
    public const string MobileRequired = "MOBILE_REQUIRED";
    public const string LateOrder = "LATE_ORDER";
    public const string MemberNotFound = "MEMBER_NOT_FOUND";
    public const string MemberErased = "MEMBER_ERASED";
    public const string MemberAlreadyMerged = "MEMBER_ALREADY_MERGED";
    public const string IdentityBoundToAnotherMember = "IDENTITY_BOUND_TO_ANOTHER_MEMBER";
    public const string IdentitiesBelongToDifferentMembers = "IDENTITIES_BELONG_TO_DIFFERENT_MEMBERS";
    public const string PhoneBelongsToAnotherMember = "PHONE_BELONGS_TO_ANOTHER_MEMBER";
    public const string ConcurrentUpdate = "CONCURRENT_UPDATE";
    public const string IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";
    public const string InsufficientPoints = "INSUFFICIENT_POINTS";
    public const string OrderNotFound = "ORDER_NOT_FOUND";
    public const string RefundExceedsOrder = "REFUND_EXCEEDS_ORDER";
    public const string ProgramVersionMismatch = "PROGRAM_VERSION_MISMATCH";
    public const string BirthdayAlreadySet = "BIRTHDAY_ALREADY_SET";
    public const string MalformedRequest = "MALFORMED_REQUEST";
    public const string RequestTooLarge = "REQUEST_TOO_LARGE";
    public const string StoreBusy = "STORE_BUSY";
    public const string StoreFull = "STORE_FULL";
    public const string Internal = "INTERNAL";
}
