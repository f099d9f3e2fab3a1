package provider

import (
	"encoding/json"
	"io"
)

func jsonIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
