// Who is signed in. Authentication is another issue's work; until its API
// lands this shows nothing (a Vigil without auth has no session).
export function Session() {
  return null;
}
