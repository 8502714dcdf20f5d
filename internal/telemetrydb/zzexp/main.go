package main

import (
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	db, err := sql.Open("duckdb", "?threads=2&memory_limit=1GB")
	if err != nil {
		panic(err)
	}
	if _, err := db.Exec("ATTACH '" + os.Args[1] + "' AS p0 (READ_ONLY)"); err != nil {
		panic(err)
	}
	for _, q := range os.Args[2:] {
		for i := 0; i < 3; i++ {
			t := time.Now()
			rows, err := db.Query(q)
			if err != nil {
				panic(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			fmt.Printf("%6.0f ms %d rows  %s\n", float64(time.Since(t).Microseconds())/1000, n, q)
		}
	}
}
