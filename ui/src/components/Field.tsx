import { cloneElement, ReactElement, useId } from 'react';

interface FieldProps {
  id: string;
  label: string;
  optional?: boolean;
  hint?: string;
  error?: string;
  children: ReactElement<React.InputHTMLAttributes<HTMLInputElement>>;
}

/** A labelled input of the sign-in card, with its hint or its error under it. */
export function Field({ id, label, optional, hint, error, children }: FieldProps) {
  const messageId = useId();
  const input = cloneElement(children, {
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error || hint ? messageId : undefined,
  });
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> (optional)</span>}
      </label>
      {input}
      {error ? (
        <p id={messageId} className="field-error" data-testid={`error-${id}`}>
          {error}
        </p>
      ) : (
        hint && (
          <p id={messageId} className="field-hint">
            {hint}
          </p>
        )
      )}
    </div>
  );
}
