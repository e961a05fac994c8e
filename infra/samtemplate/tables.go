package samtemplate

import (
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableProps is the subset of AWS::DynamoDB::Table properties local tables need.
type tableProps struct {
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []keyElem `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string    `yaml:"IndexName"`
		KeySchema  []keyElem `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// Table is a table declared in the template.
type Table struct {
	LogicalID string
	Input     *dynamodb.CreateTableInput
}

// Tables returns a CreateTableInput for every AWS::DynamoDB::Table, named
// prefix+LogicalID, billed on demand as the template declares.
func (t *Template) Tables(prefix string) ([]Table, error) {
	ids := t.OfType("AWS::DynamoDB::Table")
	sort.Strings(ids)
	var out []Table
	for _, id := range ids {
		var p tableProps
		props := t.Resources[id].Properties
		if err := props.Decode(&p); err != nil {
			return nil, fmt.Errorf("table %s: %w", id, err)
		}
		in := &dynamodb.CreateTableInput{
			TableName:   aws.String(prefix + id),
			BillingMode: types.BillingModePayPerRequest,
			KeySchema:   keySchema(p.KeySchema),
		}
		for _, a := range p.AttributeDefinitions {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
				AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType),
			})
		}
		for _, g := range p.GlobalSecondaryIndexes {
			proj := &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)}
			if len(g.Projection.NonKeyAttributes) > 0 {
				proj.NonKeyAttributes = g.Projection.NonKeyAttributes
			}
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
				IndexName: aws.String(g.IndexName), KeySchema: keySchema(g.KeySchema), Projection: proj,
			})
		}
		if len(in.KeySchema) == 0 {
			return nil, fmt.Errorf("table %s: no KeySchema", id)
		}
		out = append(out, Table{LogicalID: id, Input: in})
	}
	return out, nil
}

func keySchema(ks []keyElem) []types.KeySchemaElement {
	var out []types.KeySchemaElement
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	return out
}
