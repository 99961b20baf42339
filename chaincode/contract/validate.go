package contract

import (
	"math"
	"net"
	"regexp"
	"sort"
	"strconv"
)

var (
	sha256Pattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

const maxTextLength = 256

// Size bounds on caller-supplied JSON and named numbers. Metrics and rule
// parameters end up in the Round and Session values that later transactions
// read and rewrite, so their size is bounded per entry and in total.
const (
	maxNamedNumbers     = 16
	maxNumberNameLength = 64
	maxNumberMagnitude  = 1e15
	maxMetricsBytes     = 2 << 10
	maxSpecBytes        = 64 << 10
	maxProposalBytes    = 64 << 10
)

// checkSHA256 accepts exactly 64 lowercase hex digits.
func checkSHA256(field, value string) error {
	if !sha256Pattern.MatchString(value) {
		return fail(CodeBadArgument, "%s %q is not a SHA-256 digest; pass 64 lowercase hex digits", field, value)
	}
	return nil
}

// checkSessionID keeps ids short and free of separators used in keys and node ids.
func checkSessionID(value string) error {
	if !sessionIDPattern.MatchString(value) {
		return fail(CodeBadArgument, "session id %q is invalid; use 1-64 letters, digits, '.', '_' or '-'", value)
	}
	return nil
}

// checkEndpoint accepts "host:port" with a port in 1..65535.
func checkEndpoint(value string) error {
	host, port, err := net.SplitHostPort(value)
	if err == nil && host != "" && len(value) <= maxTextLength {
		if n, convErr := strconv.Atoi(port); convErr == nil && n >= 1 && n <= 65535 {
			return nil
		}
	}
	return fail(CodeBadArgument, "endpoint %q is invalid; pass host:port with a port in 1..65535", value)
}

// checkText requires a non-empty string of bounded length.
func checkText(field, value string) error {
	if value == "" || len(value) > maxTextLength {
		return fail(CodeBadArgument, "%s must be 1..%d characters, got %d", field, maxTextLength, len(value))
	}
	return nil
}

// parsePositive reads a decimal integer argument in 1..limit.
func parsePositive(field, value string, limit int64) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 1 || n > limit {
		return 0, fail(CodeBadArgument, "%s %q is invalid; pass a decimal integer in 1..%d", field, value, limit)
	}
	return n, nil
}

// parseRound reads a round-number argument.
func parseRound(value string) (int, error) {
	n, err := parsePositive("round", value, maxRounds)
	return int(n), err
}

// parseBool reads "true" or "false".
func parseBool(field, value string) (bool, error) {
	switch value {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fail(CodeBadArgument, "%s %q is invalid; pass \"true\" or \"false\"", field, value)
}

// parseMetrics reads a JSON object of metric name to finite number.
func parseMetrics(raw string) (map[string]float64, error) {
	metrics := map[string]float64{}
	if raw == "" {
		return metrics, nil
	}
	if err := decodeStrict("metrics", raw, maxMetricsBytes, &metrics); err != nil {
		return nil, err
	}
	if metrics == nil {
		metrics = map[string]float64{}
	}
	return metrics, checkNumbers("metrics", metrics)
}

// checkNumbers bounds a map of named numbers (metrics, rule parameters): a
// few entries, short printable names, finite values of moderate size. They are
// stored in values every later transaction rewrites, so one caller must not be
// able to make them large.
func checkNumbers(field string, values map[string]float64) error {
	if len(values) > maxNamedNumbers {
		return fail(CodeBadArgument, "%s has %d entries; the limit is %d", field, len(values), maxNamedNumbers)
	}
	for _, name := range sortedKeys(values) {
		if !printableName(name, maxNumberNameLength) {
			return fail(CodeBadArgument, "%s name %q is invalid; use 1..%d printable ASCII characters", field, name, maxNumberNameLength)
		}
		if value := values[name]; math.IsNaN(value) || math.Abs(value) > maxNumberMagnitude {
			return fail(CodeBadArgument, "%s entry %q is %v; pass a finite number within +-%g", field, name, value, maxNumberMagnitude)
		}
	}
	return nil
}

// printableName accepts 1..limit characters of printable ASCII (space to '~').
func printableName(name string, limit int) bool {
	if name == "" || len(name) > limit {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			return false
		}
	}
	return true
}

// sortedKeys returns the keys of m in ascending order, so loops never depend on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// contains reports whether sorted list holds value.
func contains(sorted []string, value string) bool {
	i := sort.SearchStrings(sorted, value)
	return i < len(sorted) && sorted[i] == value
}

// insertSorted returns sorted with value added in place.
func insertSorted(sorted []string, value string) []string {
	i := sort.SearchStrings(sorted, value)
	out := make([]string, 0, len(sorted)+1)
	out = append(out, sorted[:i]...)
	out = append(out, value)
	return append(out, sorted[i:]...)
}
