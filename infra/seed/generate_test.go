package seed_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/shared/domain/customer"
)

// A ledger generated in chunks is the ledger generated at once.
func TestGenerateInChunksIsTheSameLedger(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	whole := seed.Ledger(1000, 7, now)
	var chunks []*customer.Customer
	calls := 0
	if err := seed.Generate(1000, 7, now, 300, func(cs []*customer.Customer) error {
		calls++
		chunks = append(chunks, cs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 4 || len(whole) != 1000 || !reflect.DeepEqual(whole, chunks) {
		t.Errorf("%d chunks, %d and %d customers; want 4 chunks of the same 1000", calls, len(whole), len(chunks))
	}
}
