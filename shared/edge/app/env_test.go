package app

import "testing"

// A concurrency the template could not have set (0, negative, not a whole
// number, past SQS's 1000) is refused at start; unset means one process.
func TestConcurrencyThatCannotWorkIsRefused(t *testing.T) {
	for v, want := range map[string]int{"": 0, "1": 1, "5": 5, "1000": 1000} {
		t.Setenv("SENDER_MAX_CONCURRENCY", v)
		if got, err := concurrency("SENDER_MAX_CONCURRENCY"); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"0", "-2", "five", "2.5", "1001"} {
		t.Setenv("FANOUT_MAX_CONCURRENCY", v)
		if _, err := concurrency("FANOUT_MAX_CONCURRENCY"); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
