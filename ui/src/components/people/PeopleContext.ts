// How any name or face in the app opens that person's profile card without every list between
// the chat view and a message passing a callback down: the chat view provides it, the message (or
// anything else showing a person) asks for it.
import { createContext, useContext } from 'react';

export interface People {
  /** Opens the profile card of this user. */
  showProfile: (userId: number) => void;
}

export const PeopleContext = createContext<People | null>(null);

/** The profile opener, or `null` outside the chat view (a name is then plain text). */
export function useShowProfile(): ((userId: number) => void) | null {
  return useContext(PeopleContext)?.showProfile ?? null;
}
