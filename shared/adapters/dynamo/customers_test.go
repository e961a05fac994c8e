package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
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

// A message that counts against the cap is written with its entry in the
// customer's record (in one UTC form), entry by entry where the record
// exists and whole where it does not; a second write of the same message
// changes nothing; a customer who is missing gets no message.
func TestCreateMessageKeepsTheCapRecord(t *testing.T) {
	t.Parallel()
	s, db, tables := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, tokyo)
	p := delivery.DefaultPolicy
	for _, id := range []string{"NEW", "OLD"} {
		if err := s.SaveCustomer(ctx, &customer.Customer{ID: id, Rank: "new"}); err != nil {
			t.Fatal(err)
		}
	}
	// OLD was stored before the record was kept.
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &tables.Customers,
		Key:              map[string]types.AttributeValue{"customer_id": &types.AttributeValueMemberS{Value: "OLD"}},
		UpdateExpression: aws.String("REMOVE cap_sends")}); err != nil {
		t.Fatal(err)
	}
	before := map[string]customer.CapSend{"step|OLD|earlier": {At: now.AddDate(0, 0, -2), Kind: "step"}}
	for _, id := range []string{"NEW", "OLD", "NEW"} {
		rec := message.Record{Key: message.NewKey(message.Newsletter, id, "x"), Kind: message.Newsletter, CustomerID: id,
			Status: message.Queued, CreatedAt: now, UpdatedAt: now}
		var sends map[string]customer.CapSend
		if id == "OLD" {
			sends = before
		}
		if _, err := s.CreateMessage(ctx, rec, p.CapChange(sends, rec)); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]int{"NEW": 1, "OLD": 2} {
		c, err := s.Customer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.CapSends) != want || !c.CapSends[string(message.NewKey(message.Newsletter, id, "x"))].At.Equal(now) {
			t.Errorf("%s: record %v, want %d entries with the newsletter", id, c.CapSends, want)
		}
		if n := checkTimes(t, id, "cap_sends", raw(t, db, tables.Customers, "customer_id", id)["cap_sends"]); n != want {
			t.Errorf("%s: %d times in the record, want %d", id, n, want)
		}
	}
	rec := message.Record{Key: "newsletter|GONE|x", Kind: message.Newsletter, CustomerID: "GONE", Status: message.Queued, CreatedAt: now}
	if _, err := s.CreateMessage(ctx, rec, p.CapChange(nil, rec)); err == nil {
		t.Error("a message for a missing customer was recorded")
	}
	if _, err := s.Message(ctx, rec.Key); err == nil {
		t.Error("the message of a missing customer is stored")
	}
}
