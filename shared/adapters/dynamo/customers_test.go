package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// A save writes what the customer holds and removes what it no longer
// holds (a birthday cleared leaves the birthday index), and a new customer
// starts with an empty record of what counts against the cap.
func TestSaveCustomerWritesWhatItHolds(t *testing.T) {
	t.Parallel()
	s, db, tables := newStore(t)
	ctx := context.Background()
	c := &customer.Customer{ID: "C1", Name: "佐藤 花子", Email: "c1@example.jp", Rank: "new",
		SignedUpAt: time.Date(2026, 1, 2, 3, 4, 5, 0, tokyo)}
	if err := c.SetBirthday("1990-04-05"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Customer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if got.BirthdayMD != "04-05" || got.Name != c.Name || got.Version != 1 || got.CapSends == nil || len(got.CapSends) != 0 {
		t.Fatalf("saved %+v", got)
	}
	if err := got.SetBirthday(""); err != nil {
		t.Fatal(err)
	}
	got.Name = ""
	if err := s.SaveCustomer(ctx, got); err != nil {
		t.Fatal(err)
	}
	item := raw(t, db, tables.Customers, "customer_id", "C1")
	for _, attr := range []string{"birthday", "birthday_md", "name"} {
		if _, ok := item[attr]; ok {
			t.Errorf("%s still stored after it was cleared", attr)
		}
	}
	if v := item["version"].(*types.AttributeValueMemberN).Value; v != "2" {
		t.Errorf("version %s, want 2", v)
	}
	// A stale save changes nothing.
	got.Version = 1
	if err := s.SaveCustomer(ctx, got); err == nil {
		t.Error("a save of version 1 over version 2 went through")
	}
}
