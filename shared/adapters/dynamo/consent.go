package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// customerWrites are the versioned write of a customer and a put of each
// consent change noted on it since it was read, for one transaction: a
// change of consent is never stored without its record, nor a record
// without the change. Records are only ever added (see docs/consent.md).
func (s *Store) customerWrites(c *customer.Customer) ([]types.TransactWriteItem, error) {
	u, err := s.customerUpdate(c)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{{Update: u}}
	for i, ch := range c.PendingConsent {
		item, err := marshal(ch)
		if err != nil {
			return nil, fmt.Errorf("encode consent record of %s: %w", c.ID, err)
		}
		item["customer_id"] = str(c.ID)
		// The version being written makes the key unique even when two
		// changes share an instant (a test clock, a batch of events).
		item["record"] = str(fmt.Sprintf("%s#%d#%d", timeString(ch.At), c.Version+1, i))
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Consent, Item: item,
			ConditionExpression: aws.String("attribute_not_exists(customer_id)")}})
	}
	return items, nil
}

// consentWritten clears the changes a committed write recorded.
func consentWritten(c *customer.Customer) { c.PendingConsent = nil }

// ConsentOf reads a customer's consent records, oldest first: every change
// since records were kept, then none are left out.
func (s *Store) ConsentOf(ctx context.Context, customerID string) ([]customer.ConsentChange, error) {
	var out []customer.ConsentChange
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.tables.Consent,
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("consent records of %s: %w", customerID, err)
		}
		var recs []customer.ConsentChange
		if err := unmarshalList(page.Items, &recs); err != nil {
			return nil, fmt.Errorf("decode consent records of %s: %w", customerID, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}
