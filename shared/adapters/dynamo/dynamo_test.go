package dynamo_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

var (
	tokyo, _      = time.LoadLocation("Asia/Tokyo")
	losAngeles, _ = time.LoadLocation("America/Los_Angeles")
)

func newStore(t testing.TB) (*dynamo.Store, *dynamodb.Client, dynamo.Tables) {
	t.Helper()
	db, prefix := dynamolocal.NewTestDB(t)
	tables := dynamo.TablesWithPrefix(prefix)
	return dynamo.New(db, tables), db, tables
}

// canonical is the one form every stored time takes.
var canonical = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)

// looksLikeTime catches any RFC 3339 date-time, whatever its zone or precision.
var looksLikeTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d`)

func checkTimes(t *testing.T, what, path string, av types.AttributeValue) int {
	n := 0
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		if looksLikeTime.MatchString(v.Value) {
			n++
			if !canonical.MatchString(v.Value) {
				t.Errorf("%s: %s = %q, want UTC, fixed width", what, path, v.Value)
			}
		}
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			n += checkTimes(t, what, path+"."+k, e)
		}
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			n += checkTimes(t, what, path+"[]", e)
		}
	}
	return n
}

func raw(t *testing.T, db *dynamodb.Client, table, keyName, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table,
		Key: map[string]types.AttributeValue{keyName: &types.AttributeValueMemberS{Value: key}}, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("get %s %s: %v", table, key, err)
	}
	return out.Item
}

// Times from a clock in Tokyo are stored in UTC, fixed width: customers,
// messages (claimed, settled, their jobs), feedback and webhook markers.
func TestEveryStoredTimeHasOneForm(t *testing.T) {
	t.Parallel()
	s, db, tables := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 19, 0, 0, 0, tokyo) // whole seconds: RFC3339Nano would drop the fraction
	c := &customer.Customer{ID: "C1", SignedUpAt: now, RankSince: now, Rank: "new",
		Purchases:   customer.Purchases{Count: 1, First: now, Last: now},
		RankHistory: []customer.RankChange{{To: "new", At: now}}}
	if err := s.SaveCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	job := message.Job{Key: "step|C1|x", Kind: message.Step, CustomerID: "C1", QueuedAt: now, NotBefore: now.Add(time.Hour)}
	if _, err := s.CreateMessage(ctx, message.Record{Key: job.Key, Kind: job.Kind, CustomerID: "C1", Status: message.Queued,
		CreatedAt: now, UpdatedAt: now, Job: &job}, delivery.CapChange{}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, job, customer.LINE, now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, claimed, message.Outcome{Status: message.Deferred, At: now, NotBefore: now.Add(9 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, webhook.Effects{Marker: "seen#test#1", At: now,
		Feedback: []feedback.Feedback{{ID: "F1", CustomerID: "C1", Channel: customer.LINE, Type: feedback.Comment, Text: "x", At: now}}}); err != nil {
		t.Fatal(err)
	}
	n := checkTimes(t, "customer", "", &types.AttributeValueMemberM{Value: raw(t, db, tables.Customers, "customer_id", "C1")})
	n += checkTimes(t, "message", "", &types.AttributeValueMemberM{Value: raw(t, db, tables.Messages, "message_key", string(job.Key))})
	n += checkTimes(t, "feedback", "", &types.AttributeValueMemberM{Value: raw(t, db, tables.Feedback, "feedback_id", "F1")})
	n += checkTimes(t, "marker", "", &types.AttributeValueMemberM{Value: raw(t, db, tables.Inbox, "id", "seen#test#1")})
	if n < 12 {
		t.Errorf("only %d stored times checked", n)
	}
}

// A message stored before times had one form (by the SDK's encoder, in the
// zone of the clock that wrote it) still reads as the same instants, still
// takes a conditional update, and is still found by a range read.
func TestTimesStoredInTheOldFormsStillWork(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		at   time.Time
	}{
		{"the SDK encoder's JST", time.Date(2026, 11, 30, 19, 0, 0, 500_000_000, tokyo)},
		{"the SDK encoder's Los Angeles", time.Date(2026, 11, 30, 2, 0, 0, 0, losAngeles)},
		{"RFC 3339 in UTC, whole seconds", time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, db, tables := newStore(t)
			ctx := context.Background()
			old := message.Record{Key: "newsletter|C1|old", Kind: message.Newsletter, CustomerID: "C1", Status: message.Sent,
				Channel: customer.Email, CreatedAt: tt.at, UpdatedAt: tt.at, SentAt: tt.at}
			item, err := attributevalue.MarshalMap(old) // as the store wrote items before
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &tables.Messages, Item: item}); err != nil {
				t.Fatal(err)
			}
			rec, err := s.Message(ctx, old.Key)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.CreatedAt.Equal(tt.at) || !rec.UpdatedAt.Equal(tt.at) {
				t.Errorf("read back %v / %v, want %v", rec.CreatedAt, rec.UpdatedAt, tt.at)
			}
			got, err := s.MessagesSince(ctx, "C1", tt.at.Add(-time.Minute))
			if err != nil || len(got) != 1 {
				t.Errorf("messages since a minute before: %d, %v; want the old one", len(got), err)
			}
			if got, _ := s.MessagesSince(ctx, "C1", tt.at.Add(time.Second)); len(got) != 0 {
				t.Errorf("messages since a second after: %d, want none", len(got))
			}
			// An event read it with its old updated_at: the condition must still match.
			was := rec.UpdatedAt
			rec.Observe(message.EvOpen, tt.at.Add(time.Minute))
			rec.UpdatedAt = tt.at.Add(time.Minute)
			if err := s.Apply(ctx, webhook.Effects{Marker: "seen#test#open", At: rec.UpdatedAt, Message: rec, MessageWas: was}); err != nil {
				t.Fatalf("apply on an old-form message: %v", err)
			}
			after, _ := s.Message(ctx, old.Key)
			if after.Status != message.Opened {
				t.Errorf("status %s, want opened", after.Status)
			}
			// And it is now in the one form.
			checkTimes(t, "rewritten message", "", &types.AttributeValueMemberM{Value: raw(t, db, tables.Messages, "message_key", string(old.Key))})
		})
	}
}
