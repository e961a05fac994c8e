// Package dynamo keeps the ledger in DynamoDB: customers, orders and the
// messages table that is daifuku's idempotency record and audit trail.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Tables names the tables the store uses.
type Tables struct {
	Customers string
	Orders    string
	Messages  string
	Campaigns string // campaign headers
	Batches   string // campaigns' multicast batches
	Tags      string // who carries each tag
	Inbox     string // webhook batches and processed-event markers
	Feedback  string
	Channels  string // pauses that hold for a whole channel (LINE's monthly quota)
	Content   string // the content set's versions and published revision
	Reports   string // the report's counters, by month and row
	Referrals string // referral codes and referrals (口コミ)
	Points    string // the points card's entries, by customer
	Consent   string // consent records, never changed or deleted
}

// each lists the tables with their logical ids in template.yaml and the
// variables template.yaml sets to their names.
func (t *Tables) each() []struct {
	id, env string
	name    *string
} {
	return []struct {
		id, env string
		name    *string
	}{
		{"CustomersTable", "CUSTOMERS_TABLE", &t.Customers}, {"OrdersTable", "ORDERS_TABLE", &t.Orders},
		{"MessagesTable", "MESSAGES_TABLE", &t.Messages}, {"CampaignsTable", "CAMPAIGNS_TABLE", &t.Campaigns},
		{"BatchesTable", "BATCHES_TABLE", &t.Batches}, {"TagsTable", "TAGS_TABLE", &t.Tags},
		{"InboxTable", "INBOX_TABLE", &t.Inbox}, {"FeedbackTable", "FEEDBACK_TABLE", &t.Feedback},
		{"ChannelsTable", "CHANNELS_TABLE", &t.Channels}, {"ContentTable", "CONTENT_TABLE", &t.Content},
		{"ReportsTable", "REPORTS_TABLE", &t.Reports}, {"ReferralsTable", "REFERRALS_TABLE", &t.Referrals},
		{"PointsTable", "POINTS_TABLE", &t.Points}, {"ConsentTable", "CONSENT_TABLE", &t.Consent},
	}
}

// TablesWithPrefix names the tables as local setups create them from
// template.yaml: prefix + logical id.
func TablesWithPrefix(prefix string) Tables {
	var t Tables
	for _, e := range t.each() {
		*e.name = prefix + e.id
	}
	return t
}

// TablesFromEnv reads the table names SAM passes to every function.
func TablesFromEnv() (Tables, error) {
	var t Tables
	var missing []string
	for _, e := range t.each() {
		if *e.name = os.Getenv(e.env); *e.name == "" {
			missing = append(missing, e.env)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%s must be set (template.yaml sets them)", strings.Join(missing, ", "))
	}
	return t, nil
}

// Store is the DynamoDB ledger. It is safe for concurrent use.
type Store struct {
	db     *dynamodb.Client
	tables Tables
}

// New returns a store on the given tables.
func New(db *dynamodb.Client, tables Tables) *Store {
	return &Store{db: db, tables: tables}
}

// Customer reads one customer.
func (s *Store) Customer(ctx context.Context, id string) (*customer.Customer, error) {
	return get[customer.Customer](ctx, s.db, s.tables.Customers, "customer_id", id, "customer")
}

// get reads one item by its partition key, strongly consistent: callers
// decide on what they read (claims, versions), so stale reads would cost sends.
func get[T any](ctx context.Context, db *dynamodb.Client, table, keyName, key, what string) (*T, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{keyName: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", what, key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("%s %s: %w", what, key, domain.ErrNotFound)
	}
	var v T
	if err := unmarshal(out.Item, &v); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", what, key, err)
	}
	return &v, nil
}

// SaveCustomer writes a customer if nobody changed it since it was read at
// version c.Version, and bumps the version. A new customer has version 0.
func (s *Store) SaveCustomer(ctx context.Context, c *customer.Customer) error {
	items, err := s.customerWrites(c)
	if err != nil {
		return err
	}
	if len(items) == 1 {
		u := items[0].Update
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		})
	} else {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	}
	var failed *types.ConditionalCheckFailedException
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &failed) || (errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 0)) {
		return fmt.Errorf("save customer %s: %w", c.ID, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save customer %s: %w", c.ID, err)
	}
	c.Version++
	consentWritten(c)
	return nil
}

// capSendsAttr holds customer.CapSends.
const capSendsAttr = "cap_sends"

// customerAttrs names every attribute a customer.Customer is stored in.
var customerAttrs = func() []string {
	var names []string
	t := reflect.TypeFor[customer.Customer]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("dynamodbav"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		if name != "-" {
			names = append(names, name)
		}
	}
	return names
}()

// customerUpdate builds the versioned write of a customer (version
// c.Version+1): it sets every attribute the customer has and removes those
// it lacks, but for CapSends, which only the writes that record a message
// change: a whole-item put of a customer read before a message was recorded
// would erase the message from it. A new customer starts with an empty
// record, which says that none of its messages predate it.
func (s *Store) customerUpdate(c *customer.Customer) (*types.Update, error) {
	next := *c
	next.Version = c.Version + 1
	item, err := marshal(&next)
	if err != nil {
		return nil, fmt.Errorf("encode customer %s: %w", c.ID, err)
	}
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	var sets, removes []string
	for i, attr := range customerAttrs {
		if attr == "customer_id" || attr == capSendsAttr {
			continue
		}
		n := fmt.Sprintf("#a%d", i)
		names[n] = attr
		if v, ok := item[attr]; ok {
			sets = append(sets, fmt.Sprintf("%s = :a%d", n, i))
			vals[fmt.Sprintf(":a%d", i)] = v
		} else {
			removes = append(removes, n)
		}
	}
	u := &types.Update{TableName: &s.tables.Customers, Key: map[string]types.AttributeValue{"customer_id": str(c.ID)}}
	if c.Version == 0 {
		names["#cs"] = capSendsAttr
		sets = append(sets, "#cs = if_not_exists(#cs, :nosends)")
		vals[":nosends"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		u.ConditionExpression = aws.String("attribute_not_exists(customer_id)")
	} else {
		names["#v"] = "version"
		vals[":v"] = num(c.Version)
		u.ConditionExpression = aws.String("#v = :v")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	u.UpdateExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues = aws.String(expr), names, vals
	return u, nil
}
