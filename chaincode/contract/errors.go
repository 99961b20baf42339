package contract

import (
	"errors"
	"fmt"
)

// Code is the stable, machine-readable prefix of every error the contract returns.
type Code string

// Error codes, agreed with the Python ledger client. Each error message starts with "[CODE] ".
const (
	CodeNotMember         Code = "NOT_MEMBER"
	CodeNotRegistered     Code = "NOT_REGISTERED"
	CodeNotAdmin          Code = "NOT_ADMIN"
	CodeNotParticipant    Code = "NOT_PARTICIPANT"
	CodeNotAggregator     Code = "NOT_AGGREGATOR"
	CodeNotFound          Code = "NOT_FOUND"
	CodeAlreadyExists     Code = "ALREADY_EXISTS"
	CodeWrongPhase        Code = "WRONG_PHASE"
	CodeWrongRound        Code = "WRONG_ROUND"
	CodeDuplicate         Code = "DUPLICATE"
	CodeDeadlineNotPassed Code = "DEADLINE_NOT_PASSED"
	CodeDeadlinePassed    Code = "DEADLINE_PASSED"
	CodeBadArgument       Code = "BAD_ARGUMENT"
	CodeHashMismatch      Code = "HASH_MISMATCH"
	// CodeLimitExceeded: a bound of the contract was reached (a full session, an org's share of one, a list too long to return whole).
	CodeLimitExceeded Code = "LIMIT_EXCEEDED"
	// CodeBudgetExceeded: an update's epsilonSpent is above the session's privacy budget.
	CodeBudgetExceeded Code = "BUDGET_EXCEEDED"
	// CodeClockSkew: the transaction's timestamp is too far from the endorsing peer's clock.
	CodeClockSkew Code = "CLOCK_SKEW"
	// CodeInternal marks a failure of the ledger itself (stub error, recovered panic), not a broken rule.
	CodeInternal Code = "INTERNAL"
)

// Error is a rule violation or failure reported to the caller as "[CODE] message".
type Error struct {
	Code    Code
	Message string
	cause   error
}

// Error returns the one-line message with its code prefix.
func (e *Error) Error() string {
	return fmt.Sprintf("[%s] %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause of an internal error, if any.
func (e *Error) Unwrap() error {
	return e.cause
}

// fail builds a rule-violation error with a formatted message.
func fail(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// internal wraps a ledger failure, keeping the cause for errors.Is/As.
func internal(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: CodeInternal, Message: fmt.Sprintf("%s: %v", msg, cause), cause: cause}
}

// CodeOf returns the code of err, or "" when err is not a contract error.
func CodeOf(err error) Code {
	var contractErr *Error
	if errors.As(err, &contractErr) {
		return contractErr.Code
	}
	return ""
}
