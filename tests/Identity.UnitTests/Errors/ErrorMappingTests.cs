using Google.Rpc;
using Grpc.Core;
using Identity.Service.Errors;
using Microsoft.EntityFrameworkCore;

namespace Identity.UnitTests.Errors;

public sealed class ErrorMappingTests
{
    static RpcException Map(Exception exception, CancellationToken callCancelled = default) =>
        ErrorMapping.ToRpcException(exception, callCancelled);

    static Google.Rpc.Status StatusOf(RpcException exception) =>
        exception.GetRpcStatus() ?? throw new Xunit.Sdk.XunitException("The RpcException carries no google.rpc.Status.");

    static IdentityException Thrown(Action action) => Assert.Throws<IdentityException>(action);

    [Fact]
    public void An_invalid_request_is_INVALID_ARGUMENT_with_a_BadRequest_naming_each_field()
    {
        var v = new FieldViolations();
        v.Add("phone", "is not a phone number");
        v.Add("profile.birthday", "must be a calendar date");
        var invalid = Thrown(v.ThrowIfAny);

        var rpc = Map(invalid);
        var status = StatusOf(rpc);

        Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Equal((int)Code.InvalidArgument, status.Code);
        var badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(["phone", "profile.birthday"], badRequest.FieldViolations.Select(f => f.Field));
        Assert.Equal(["is not a phone number", "must be a calendar date"], badRequest.FieldViolations.Select(f => f.Description));
        var info = status.GetDetail<ErrorInfo>();
        Assert.Equal(ErrorReasons.InvalidArgument, info?.Reason);
        Assert.Equal("identity.v1", info?.Domain);
        Assert.Contains("phone", status.Message);
        Assert.Contains("profile.birthday", status.Message);
    }

    [Fact]
    public void A_single_invalid_field_is_reported_in_the_BadRequest()
    {
        var rpc = Map(IdentityException.Invalid("absorbed_member_id", "must differ from survivor_member_id"));

        Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
        var violation = Assert.Single(StatusOf(rpc).GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal("absorbed_member_id", violation.Field);
    }

    [Fact]
    public void Not_found_carries_its_reason_in_an_ErrorInfo()
    {
        var rpc = Map(Thrown(() => IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, "No member m-1.")));
        var status = StatusOf(rpc);

        Assert.Equal(StatusCode.NotFound, rpc.StatusCode);
        Assert.Equal("No member m-1.", status.Message);
        Assert.Equal(new ErrorInfo { Reason = "MEMBER_NOT_FOUND", Domain = "identity.v1" }, status.GetDetail<ErrorInfo>());
        Assert.Null(status.GetDetail<BadRequest>());
    }

    [Fact]
    public void A_failed_precondition_carries_its_reason_in_an_ErrorInfo()
    {
        var rpc = Map(Thrown(() =>
            IdentityException.ThrowFailedPrecondition(ErrorReasons.IdentityBoundToAnotherMember, "Bound to another member.")));

        Assert.Equal(StatusCode.FailedPrecondition, rpc.StatusCode);
        Assert.Equal(
            new ErrorInfo { Reason = "IDENTITY_BOUND_TO_ANOTHER_MEMBER", Domain = "identity.v1" },
            StatusOf(rpc).GetDetail<ErrorInfo>());
    }

    [Fact]
    public void Already_exists_carries_its_reason_in_an_ErrorInfo()
    {
        var rpc = Map(Thrown(() =>
            IdentityException.ThrowAlreadyExists(ErrorReasons.PhoneBelongsToAnotherMember, "The phone belongs to another member.")));

        Assert.Equal(StatusCode.AlreadyExists, rpc.StatusCode);
        Assert.Equal("PHONE_BELONGS_TO_ANOTHER_MEMBER", StatusOf(rpc).GetDetail<ErrorInfo>()?.Reason);
    }

    [Fact]
    public void An_unexpected_exception_is_INTERNAL_and_its_message_is_not_echoed()
    {
        var rpc = Map(new InvalidOperationException("phone 13812345678", new Exception("name 李雷")));
        var status = StatusOf(rpc);

        Assert.Equal(StatusCode.Internal, rpc.StatusCode);
        Assert.Equal(new ErrorInfo { Reason = ErrorReasons.Internal, Domain = "identity.v1" }, status.GetDetail<ErrorInfo>());
        foreach (var text in new[] { rpc.Message, rpc.Status.Detail, status.ToString() })
        {
            Assert.DoesNotContain("13812345678", text);
            Assert.DoesNotContain("李雷", text);
        }
        Assert.DoesNotContain(rpc.Trailers, t => !t.IsBinary && t.Value.Contains("13812345678", StringComparison.Ordinal));
    }

    [Fact]
    public void Cancellation_by_the_caller_is_CANCELLED()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var rpc = Map(new OperationCanceledException(cancelled.Token), cancelled.Token);

        Assert.Equal(StatusCode.Cancelled, rpc.StatusCode);
    }

    [Fact]
    public void A_cancellation_the_caller_did_not_ask_for_is_UNAVAILABLE_with_a_retry()
    {
        // A shared store load that passed its own time bound: the server's state, not the request's.
        var rpc = Map(new TaskCanceledException("an internal timeout"), CancellationToken.None);

        Assert.Equal(StatusCode.Unavailable, rpc.StatusCode);
        Assert.Equal(ErrorReasons.StoreBusy, StatusOf(rpc).GetDetail<ErrorInfo>()?.Reason);
        Assert.NotNull(StatusOf(rpc).GetDetail<RetryInfo>());
    }

    [Fact]
    public void A_concurrent_update_is_ABORTED_so_the_caller_retries()
    {
        var rpc = Map(new DbUpdateConcurrencyException("row 13812345678 changed"));

        Assert.Equal(StatusCode.Aborted, rpc.StatusCode);
        Assert.Equal(ErrorReasons.ConcurrentUpdate, StatusOf(rpc).GetDetail<ErrorInfo>()?.Reason);
        Assert.DoesNotContain("13812345678", rpc.Status.Detail);
    }

    [Fact]
    public void A_store_timeout_is_UNAVAILABLE()
    {
        var rpc = Map(new TimeoutException("busy"));

        Assert.Equal(StatusCode.Unavailable, rpc.StatusCode);
    }

    [Fact]
    public void An_RpcException_passes_through_unchanged()
    {
        var original = new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, "no"));

        Assert.Same(original, Map(original));
    }

    public static TheoryData<string, Exception, string> StoreFaultCases => new()
    {
        { "SQLITE_BUSY", new Microsoft.Data.Sqlite.SqliteException("database is locked", 5), ErrorReasons.StoreBusy },
        { "SQLITE_LOCKED", new Microsoft.Data.Sqlite.SqliteException("database table is locked", 6), ErrorReasons.StoreBusy },
        { "write gate", new StoreBusyException(TimeSpan.FromSeconds(1)), ErrorReasons.StoreBusy },
        { "SQLITE_BUSY inside EF", new DbUpdateException("save failed", new Microsoft.Data.Sqlite.SqliteException("database is locked", 5)), ErrorReasons.StoreBusy },
        { "SQLITE_FULL", new Microsoft.Data.Sqlite.SqliteException("database or disk is full", 13), ErrorReasons.StoreFull },
        { "SQLITE_IOERR", new Microsoft.Data.Sqlite.SqliteException("disk I/O error", 10), ErrorReasons.StoreFull },
        { "ENOSPC", new DbUpdateException("save failed", new IOException("No space left on device", 28)), ErrorReasons.StoreFull },
    };

    [Theory]
    [MemberData(nameof(StoreFaultCases))]
    public void Store_faults_are_UNAVAILABLE_with_RetryInfo_and_a_stable_reason(string because, Exception fault, string reason)
    {
        var rpc = Map(fault);
        var status = StatusOf(rpc);
        Assert.True(rpc.StatusCode == StatusCode.Unavailable, because);
        Assert.Equal(reason, status.GetDetail<ErrorInfo>()?.Reason);
        Assert.True(status.GetDetail<RetryInfo>()?.RetryDelay.ToTimeSpan() > TimeSpan.Zero, because);
    }

    [Fact]
    public void Other_SQLite_errors_stay_INTERNAL()
    {
        Assert.Equal(StatusCode.Internal, Map(new Microsoft.Data.Sqlite.SqliteException("constraint failed", 19)).StatusCode);
    }
}
