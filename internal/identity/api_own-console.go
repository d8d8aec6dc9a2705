package identity

import (
	"context"
	"errors"
	"fmt"
)

const sqlGetUserByID = `SELECT ` + userColumns + userFrom + `WHERE u.id = $1`

// UserByID returns the user with id; ErrNotFound when there is none.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, sqlGetUserByID, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, err
}

// ManagerScope returns the managers whose customers u sees as a manager: their
// own and those of the managers they lead. None when u is not a manager.
func (s *Store) ManagerScope(ctx context.Context, u User) ([]int64, error) {
	p, err := s.principal(ctx, u, 0)
	if err != nil {
		return nil, err
	}
	return p.ManagerIDs, nil
}
