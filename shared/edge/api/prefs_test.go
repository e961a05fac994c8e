package api_test

import (
	"context"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// consentOf reads a customer's consent records, oldest first.
func (k *hook) consentOf(t *testing.T, id string) []customer.ConsentChange {
	t.Helper()
	recs, err := k.Store.ConsentOf(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
